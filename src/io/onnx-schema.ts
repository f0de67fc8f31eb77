/**
 * ONNX's own schema, `onnx.proto` (vendored from the ONNX project with its license under
 * `schemas/onnx/`), read by protobufjs: the message types an ONNX model file is made of. Field names
 * are kept as the schema spells them (`ir_version`, `opset_import`, `raw_data`, …).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';

/** Path of the vendored schema (the same from `src/io` and `dist/io`). */
export const ONNX_PROTO_FILE = path.resolve(__dirname, '..', '..', 'schemas', 'onnx', 'onnx.proto');

/** ONNX `TensorProto.DataType` values used here. */
export const ONNX_FLOAT = 1;

/** ONNX `AttributeProto.AttributeType` values used here. */
export const ONNX_ATTRIBUTE = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

let cached: protobuf.Type | null = null;

/** The `onnx.ModelProto` message type, loaded once. */
export function onnxModelProto(): protobuf.Type {
  if (cached === null) {
    if (!fs.existsSync(ONNX_PROTO_FILE)) {
      throw new Error(`ONNX schema ${ONNX_PROTO_FILE} is missing: reinstall the package (its schemas/ folder holds onnx.proto)`);
    }
    const root = new protobuf.Root().loadSync(ONNX_PROTO_FILE, { keepCase: true });
    cached = root.lookupType('onnx.ModelProto');
  }
  return cached;
}
