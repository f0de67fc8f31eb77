/**
 * Runs an ONNX model in onnxruntime (`onnxruntime-web`, its WebAssembly CPU backend) in a separate
 * Node process: onnxruntime loads its WebAssembly glue with a dynamic `import()`, which Jest's module
 * sandbox refuses, while plain Node allows it.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);

/** The child: reads the model and one float32 input, runs one session, writes the first output. */
const RUNNER = `
const fs = require('fs');
const ort = require('onnxruntime-web');
const [modelFile, inputFile, dimsJson, inputName, outputFile] = process.argv.slice(1);
(async () => {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(fs.readFileSync(modelFile));
  const bytes = fs.readFileSync(inputFile);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const result = await session.run({ [inputName]: new ort.Tensor('float32', data, JSON.parse(dimsJson)) });
  const out = result[session.outputNames[0]];
  fs.writeFileSync(outputFile, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
  process.stdout.write(JSON.stringify({ dims: out.dims, output: session.outputNames[0] }));
})().catch((err) => { console.error(err); process.exit(1); });
`;

/** An output of {@link runOnnxModel}. */
export interface OnnxRun {
  /** Name of the graph output. */
  output: string;
  dims: number[];
  /** The output values in C order. */
  data: Float32Array;
}

/**
 * Runs `modelFile` on one float32 input in onnxruntime.
 * @param input C-order data of shape `dims` (e.g. images `[N, 3, H, W]`)
 */
export async function runOnnxModel(modelFile: string, input: Float32Array, dims: number[], inputName = 'input'): Promise<OnnxRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort-run-'));
  try {
    const inputFile = path.join(dir, 'input.f32');
    const outputFile = path.join(dir, 'output.f32');
    fs.writeFileSync(inputFile, Buffer.from(input.buffer, input.byteOffset, input.byteLength));
    const { stdout } = await run(process.execPath, ['-e', RUNNER, modelFile, inputFile, JSON.stringify(dims), inputName, outputFile], {
      cwd: path.resolve(__dirname, '..', '..'),
      maxBuffer: 1 << 20,
    });
    const { dims: outDims, output } = JSON.parse(stdout) as { dims: number[]; output: string };
    const bytes = fs.readFileSync(outputFile);
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return { output, dims: outDims, data };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
