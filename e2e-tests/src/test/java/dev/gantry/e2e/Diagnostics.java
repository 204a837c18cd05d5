package dev.gantry.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What a person needs when a scenario fails: the objects involved as YAML, events, the
 * operator's and the workers' logs (current and previous containers), written under
 * {@code target/e2e/<class>/<test>/} and summarised on standard output.
 */
final class Diagnostics {
    private Diagnostics() {
    }

    static void collect(Cluster cluster, String where, Throwable cause) {
        Path dir = Cluster.OUT.resolve(where);
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("failure.txt"), String.valueOf(cause));
            save(cluster, dir, "objects.yaml", "get", "llmd,deploy,rs,pods,svc,ingress,hpa,pdb,secrets,configmaps",
                    "-A", "-o", "yaml");
            save(cluster, dir, "overview.txt", "get", "llmd,deploy,pods,svc,ingress", "-A", "-o", "wide");
            save(cluster, dir, "events.txt", "get", "events", "-A", "--sort-by=.lastTimestamp");
            save(cluster, dir, "describe-pods.txt", "describe", "pods", "-A");
            String pods = cluster.kubectlResult(null, "get", "pods", "-A", "-o",
                    "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}").out();
            for (String pod : pods.split("\n")) {
                // kube-system's logs are noise, but for the ingress controller's: its access log
                // holds the status of every request that went through the ingress.
                if (pod.isBlank() || pod.startsWith("kube-system/") && !pod.startsWith("kube-system/traefik")) {
                    continue;
                }
                String[] nsName = pod.split("/");
                String file = "logs-" + nsName[0] + "-" + nsName[1];
                save(cluster, dir, file + ".txt", "logs", "-n", nsName[0], nsName[1], "--all-containers", "--tail=400");
                save(cluster, dir, file + "-previous.txt", "logs", "-n", nsName[0], nsName[1], "--all-containers",
                        "--previous", "--tail=400");
            }
            System.out.println("e2e: " + where + " failed; diagnostics in " + dir);
            System.out.println(cluster.kubectlResult(null, "get", "llmd,deploy,pods", "-A", "-o", "wide").out());
            String events = Files.readString(dir.resolve("events.txt"));
            List<String> lines = events.lines().toList();
            System.out.println(String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())));
        } catch (IOException | RuntimeException e) {
            System.out.println("e2e: could not collect diagnostics for " + where + ": " + e);
        }
    }

    private static void save(Cluster cluster, Path dir, String file, String... args) throws IOException {
        Shell.Result r = cluster.kubectlResult(null, args);
        Files.writeString(dir.resolve(file), r.out() + (r.err().isBlank() ? "" : "\n# stderr:\n" + r.err()));
    }
}
