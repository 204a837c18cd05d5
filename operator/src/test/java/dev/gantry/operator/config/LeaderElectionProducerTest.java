package dev.gantry.operator.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.operator.Fixtures;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LeaderElectionProducerTest {

    @Test
    void offByDefaultSoOneReplicaNeedsNoLease() {
        assertThat(LeaderElectionProducer.of(Fixtures.config().leaderElection())).isNull();
    }

    @Test
    void onWithTheLeaseInTheOperatorsNamespaceUnlessGiven() {
        LeaderElectionConfiguration inferred = LeaderElectionProducer.of(
                Fixtures.config(Map.of("gantry.operator.leader-election.enabled", "true")).leaderElection());
        assertThat(inferred.getLeaseName()).isEqualTo("gantry-operator");
        assertThat(inferred.getLeaseNamespace()).isEmpty();

        LeaderElectionConfiguration given = LeaderElectionProducer.of(Fixtures.config(Map.of(
                "gantry.operator.leader-election.enabled", "true",
                "gantry.operator.leader-election.lease-name", "gantry-lease",
                "gantry.operator.leader-election.lease-namespace", "ops")).leaderElection());
        assertThat(given.getLeaseName()).isEqualTo("gantry-lease");
        assertThat(given.getLeaseNamespace()).contains("ops");
    }
}
