package dev.gantry.operator.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The CRD committed under crds/ is the one the classes generate. When the API classes change,
 * refresh it with {@value #REFRESH} (or operator/refresh-crds.sh) and commit the result.
 */
class CrdInSyncTest {
    static final String REFRESH = "./mvnw -pl operator -am test -Dtest=CrdInSyncTest -Dsurefire.failIfNoSpecifiedTests=false -Dgantry.crds.update=true";

    @Test
    void committedCrdEqualsTheGeneratedOne() throws IOException {
        Path crds = Path.of(System.getProperty("gantry.crds.dir", "../crds"));
        Path committed = crds.resolve(GeneratedCrd.FILE_NAME);
        String generated = GeneratedCrd.yaml();

        if (Boolean.getBoolean("gantry.crds.update")) {
            Files.createDirectories(crds);
            Files.writeString(committed, generated);
            System.out.println("CrdInSyncTest: wrote " + committed.toAbsolutePath().normalize());
            return;
        }
        assertThat(committed)
                .withFailMessage("%s is missing; generate it with:%n  operator/refresh-crds.sh%n(that is: %s)", committed, REFRESH)
                .exists();
        assertThat(Files.readString(committed))
                .withFailMessage("%s differs from the CRD the API classes generate; refresh it with:%n  operator/refresh-crds.sh"
                        + "%n(that is: %s)%nand commit the result.", committed, REFRESH)
                .isEqualTo(generated);
    }
}
