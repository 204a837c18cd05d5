package dev.gantry.operator.config;

import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import io.quarkus.arc.Unremovable;
import jakarta.enterprise.context.Dependent;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * Leader election for quarkus-operator-sdk, which turns it on when the container has a
 * {@link LeaderElectionConfiguration} bean (looked up, not injected: hence unremovable). The
 * producer yields none (null, allowed for a dependent-scoped producer) unless
 * {@code gantry.operator.leader-election.enabled} (GANTRY_OPERATOR_LEADER_ELECTION_ENABLED) is
 * true. The identity is the pod's name (JOSDK reads HOSTNAME); the Lease needs get, create and
 * update on coordination.k8s.io leases in its namespace, which JOSDK checks at start.
 */
@Singleton
public class LeaderElectionProducer {

    @Produces
    @Dependent
    @Unremovable
    LeaderElectionConfiguration leaderElection(OperatorConfig config) {
        return of(config.leaderElection());
    }

    /** The configuration for JOSDK, or null when leader election is off. */
    public static LeaderElectionConfiguration of(OperatorConfig.LeaderElection settings) {
        if (!settings.enabled()) {
            return null;
        }
        return LeaderElectionConfigurationBuilder.aLeaderElectionConfiguration(settings.leaseName())
                .withLeaseNamespace(settings.leaseNamespace().orElse(null))
                .build();
    }
}
