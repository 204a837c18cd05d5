package dev.gantry.operator.dependent;

import dev.gantry.operator.api.LLMDeployment;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.event.ResourceID;

/**
 * A dependent that exists only while its reconcile precondition holds, and is deleted when it
 * stops holding (the HPA, the PDB, the Ingress).
 *
 * <p>To delete, JOSDK must know which object: by default it computes the desired object for its
 * name, and the desired object of a spec that no longer asks for one cannot be built (no
 * spec.ingress, no Ingress). Every managed object is named and placed as its LLMDeployment
 * ({@code WorkerLabels.metadata}), so the name is known without it.
 */
abstract class ConditionalDependent<R extends HasMetadata> extends CRUDKubernetesDependentResource<R, LLMDeployment> {

    ConditionalDependent(Class<R> resourceType) {
        super(resourceType);
    }

    @Override
    protected ResourceID targetSecondaryResourceID(LLMDeployment llmd, Context<LLMDeployment> context) {
        return ResourceID.fromResource(llmd);
    }
}
