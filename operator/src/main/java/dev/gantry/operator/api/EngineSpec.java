package dev.gantry.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import java.util.List;

/** Serving-engine settings; each unset field keeps the worker's own default. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class EngineSpec {

    @Min(1)
    @JsonPropertyDescription("The most sequences one engine step runs together (vLLM max_num_seqs).")
    public Integer maxNumSeqs;

    @Min(1)
    @JsonPropertyDescription("The token budget of one engine step, shared by prompt chunks and decode tokens "
            + "(vLLM max_num_batched_tokens).")
    public Integer maxNumBatchedTokens;

    @Min(1)
    @Max(1024)
    @JsonPropertyDescription("Tokens per KV-cache block (vLLM block_size).")
    public Integer kvCacheBlockSize;

    @Min(value = 0, inclusive = false)
    @Max(1)
    @JsonPropertyDescription("The share, in (0, 1], of the memory left after the weights that the KV cache takes "
            + "(vLLM gpu_memory_utilization; on the CPU backend, the share of the memory limit left after the Java heap "
            + "and the packed weights: the KV cache lives off the heap).")
    public Double gpuMemoryUtilization;

    @JsonPropertyDescription("Reuse the KV cache of prompt prefixes that earlier requests computed (default true).")
    public Boolean prefixCaching;

    @JsonPropertyDescription("Split long prompts over several engine steps (default true). When false, as in vLLM, "
            + "a step's token budget is raised to at least maxModelLen so that a prompt fits in one step.")
    public Boolean chunkedPrefill;

    @JsonPropertyDescription("Precision of activations in matrix products on the CPU backend: f32 (exact), q8 "
            + "(rounded to 8 bits per block as llama.cpp does, for every quantized type), or auto (q8 for every quantized "
            + "type but Q4_1, which the native int8 kernels then multiply; f32 for Q4_1 and float weights). The worker's "
            + "default is auto.")
    public Activations activations;

    @JsonPropertyDescription("How the KV cache stores K and V (vLLM's kv_cache_dtype, llama.cpp's -ctk/-ctv): f32, f16 "
            + "(half the memory: twice the tokens), q8_0 (8-bit blocks of 32 values as llama.cpp: 3.8 times the tokens of "
            + "f32; the model's head dimension must be a multiple of 32), or auto (f32). f16 and q8_0 are CPU backend "
            + "settings: a worker on a GPU refuses them at start, saying so. The worker's default is auto.")
    public KvCacheDtype kvCacheDtype;

    @JsonPropertyDescription("Extra command-line arguments appended to the worker's serve command.")
    public List<String> args;

    /** The worker's activation precisions ({@code gantry.activations}). */
    public enum Activations { f32, q8, auto }

    /** The worker's KV-cache dtypes ({@code gantry.kv-cache-dtype}). */
    public enum KvCacheDtype { auto, f32, f16, q8_0 }
}
