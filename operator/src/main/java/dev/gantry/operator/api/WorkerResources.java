package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.kubernetes.api.model.Quantity;

/** Compute resources of one worker. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class WorkerResources {

    @JsonPropertyDescription("What the scheduler reserves for each worker.")
    public CpuMemory requests;

    @JsonPropertyDescription("The most each worker may use; a worker past its memory limit is killed.")
    public CpuMemory limits;

    @Min(0)
    @JsonPropertyDescription("GPUs per worker, requested and limited as the extended resource gpuResourceName.")
    public Integer gpus;

    @Pattern("^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$")
    @JsonPropertyDescription("The extended resource that counts GPUs on the nodes, e.g. nvidia.com/gpu or amd.com/gpu; "
            + "default: the operator's gantry.operator.gpu-resource-name (nvidia.com/gpu).")
    public String gpuResourceName;

    /** A CPU and memory pair, as in a container's requests or limits. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class CpuMemory {
        @JsonPropertyDescription("CPU, e.g. 2 or 500m.")
        public Quantity cpu;

        @JsonPropertyDescription("Memory, e.g. 8Gi.")
        public Quantity memory;

        public CpuMemory() {
        }

        public CpuMemory(String cpu, String memory) {
            this.cpu = cpu == null ? null : new Quantity(cpu);
            this.memory = memory == null ? null : new Quantity(memory);
        }
    }
}
