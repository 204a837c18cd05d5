package dev.gantry.worker.config;

import static dev.gantry.worker.config.WorkerSettingsTest.config;
import static dev.gantry.worker.config.WorkerSettingsTest.with;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gantry.worker.backend.KvCacheDtype;
import dev.gantry.worker.engine.EngineConfig;
import dev.gantry.worker.model.Model;
import dev.gantry.worker.model.llama.LlamaConfig;
import dev.gantry.worker.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Sizing the KV cache and the context for the real stories260K model (2048 context, 5 layers, KV dim 32). */
class ServingPlanTest {
    private static final long GIB = 1L << 30;
    private static Model model;
    private static LlamaConfig llama;

    @BeforeAll
    static void load() {
        model = Model.load(TestModels.stories260K());
        llama = model.config();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static ServingPlan plan(long freeHeap, String... keyValues) {
        return ServingPlan.of(WorkerSettings.resolve(config(with(keyValues))), model.name(), llama, freeHeap);
    }

    @Test
    void defaultsComeFromTheModel() {
        ServingPlan p = plan(GIB);
        assertThat(p.servedModelName()).isEqualTo("stories260K");
        assertThat(p.engine().maxModelLen()).isEqualTo(llama.contextLength()).isEqualTo(2048);
        assertThat(p.engine().blockSize()).isEqualTo(16);
        assertThat(p.engine().maxNumSeqs()).isEqualTo(64);
        assertThat(p.engine().maxWaiting()).isEqualTo(1024);
        assertThat(p.engine().prefixCaching()).isTrue();
        assertThat(p.describe()).contains("stories260K", "max-model-len 2048", "KV cache", "max-num-seqs 64");
    }

    @Test
    void fractionOfTheFreeHeapIsCappedAtWhatTheEngineCanUse() {
        long perBlock = EngineConfig.bytesPerBlock(llama, 16);
        // 64 sequences x 128 blocks of 16 tokens hold 64 full contexts; a 1 GiB heap's half is more.
        ServingPlan big = plan(GIB);
        assertThat(big.kvCacheCapped()).isTrue();
        assertThat(big.engine().numBlocks()).isEqualTo(64 * 128);
        assertThat(big.kvCacheBytes()).isEqualTo(64 * 128 * perBlock);

        long small = 200 * perBlock * 2; // half of it: 200 blocks
        ServingPlan p = plan(small);
        assertThat(p.kvCacheCapped()).isFalse();
        assertThat(p.engine().numBlocks()).isEqualTo(200);
    }

    @Test
    void explicitKvMemoryIsUsedAsGiven() {
        ServingPlan p = plan(GIB, "gantry.kv-cache-memory", "4M");
        assertThat(p.engine().numBlocks()).isEqualTo(EngineConfig.blocksFor(4L << 20, llama, 16));
        assertThat(p.kvCacheCapped()).isFalse();
    }

    @Test
    void explicitSettingsOverrideTheModel() {
        ServingPlan p = plan(GIB, "gantry.max-model-len", "512", "gantry.served-model-name", "tiny",
                "gantry.block-size", "32", "gantry.enable-prefix-caching", "false", "gantry.max-num-seqs", "4");
        assertThat(p.servedModelName()).isEqualTo("tiny");
        assertThat(p.engine().maxModelLen()).isEqualTo(512);
        assertThat(p.engine().numBlocks()).isEqualTo(4 * 16);
        assertThat(p.engine().prefixCaching()).isFalse();
    }

    @Test
    void aCacheTooSmallForOneFullRequestFailsNamingTheSettings() {
        assertThatThrownBy(() -> plan(GIB, "gantry.kv-cache-memory", "64K"))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("cannot hold one request of max-model-len 2048 tokens, which needs 128 blocks")
                .hasMessageContaining("raise gantry.kv-cache-memory (--kv-cache-memory, GANTRY_KV_CACHE_MEMORY)")
                .hasMessageContaining("lower gantry.max-model-len (--max-model-len, GANTRY_MAX_MODEL_LEN)");
        // The same memory is enough once the context is shorter.
        assertThat(plan(GIB, "gantry.kv-cache-memory", "64K", "gantry.max-model-len", "48").engine().numBlocks())
                .isEqualTo(3);
        assertThatThrownBy(() -> plan(1 << 20))
                .hasMessageContaining("cannot hold one request of max-model-len 2048");
    }

    @Test
    void moreThanTheModelsContextOrTheFreeHeapIsRefused() {
        assertThatThrownBy(() -> plan(GIB, "gantry.max-model-len", "4096"))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("gantry.max-model-len (--max-model-len, GANTRY_MAX_MODEL_LEN) is 4096 but the model's context length is 2048");
        assertThatThrownBy(() -> plan(100L << 20, "gantry.kv-cache-memory", "1G"))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("gantry.kv-cache-memory (--kv-cache-memory, GANTRY_KV_CACHE_MEMORY) is 1024.0 MiB but only 100.0 MiB");
    }

    @Test
    void aSmallerKvDtypeHoldsMoreTokensInTheSameMemory() {
        ServingPlan f32 = plan(GIB, "gantry.kv-cache-memory", "4M");
        ServingPlan f16 = plan(GIB, "gantry.kv-cache-memory", "4M", "gantry.kv-cache-dtype", "f16");
        assertThat(f32.engine().kvCacheDtype()).isEqualTo(KvCacheDtype.F32);
        assertThat(f16.engine().kvCacheDtype()).isEqualTo(KvCacheDtype.F16);
        // Half the bytes per block: twice the blocks (one more where f32's count was rounded down).
        assertThat(f16.engine().numBlocks()).isBetween(2 * f32.engine().numBlocks(), 2 * f32.engine().numBlocks() + 1);
        assertThat(f16.kvCacheBytes()).isLessThanOrEqualTo(4L << 20);
        assertThat(f16.describe()).contains("KV cache f16 (", "0.50x of f32's");
        assertThat(f32.describe()).contains("KV cache f32 (", "1.00x of f32's");
    }

    @Test
    void q8_0NeedsHeadsOfWholeBlocks() {
        // stories260K's heads are 8 values wide: a 32-value q8_0 block would straddle four of them.
        assertThatThrownBy(() -> plan(GIB, "gantry.kv-cache-dtype", "q8_0"))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("gantry.kv-cache-dtype (--kv-cache-dtype, GANTRY_KV_CACHE_DTYPE)")
                .hasMessageContaining("head dimension is 8");
    }
}
