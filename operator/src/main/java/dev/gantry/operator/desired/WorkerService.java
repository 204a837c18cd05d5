package dev.gantry.operator.desired;

import dev.gantry.operator.api.LLMDeployment;
import dev.gantry.operator.api.ServingSpec;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;

/** The ClusterIP Service in front of the workers, and the URL it gives them. */
public final class WorkerService {

    private WorkerService() {
    }

    public static Service of(LLMDeployment llmd) {
        return new ServiceBuilder()
                .withMetadata(WorkerLabels.metadata(llmd))
                .withNewSpec()
                .withType("ClusterIP")
                .withSelector(WorkerLabels.selector(llmd))
                .addNewPort()
                .withName(WorkerLabels.HTTP_PORT_NAME)
                .withProtocol("TCP")
                .withPort(ServingSpec.portOf(llmd.getSpec().serving))
                // By name: a port change rolls the pods and the Service follows them without a gap.
                .withTargetPort(new IntOrString(WorkerLabels.HTTP_PORT_NAME))
                .endPort()
                .endSpec()
                .build();
    }

    /** {@code http://<service>.<namespace>.svc:<port>}: what clients in the cluster use. */
    public static String url(LLMDeployment llmd) {
        return "http://" + llmd.getMetadata().getName() + "." + llmd.getMetadata().getNamespace() + ".svc:"
                + ServingSpec.portOf(llmd.getSpec().serving);
    }
}
