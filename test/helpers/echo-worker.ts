/**
 * A worker for the tests of `worker-process.ts`: once started it says it is ready, then answers each message
 * with the variable it names from its environment, the typed array it was sent (doubled, as a typed array)
 * and the data it was started with; `{ crash: true }` writes to standard error and exits with code 3.
 */
import { receiveWorkerData } from '../../src/backend/worker-process';

interface EchoRequest {
  variable?: string;
  values?: Float32Array;
  crash?: boolean;
}

const started = receiveWorkerData();
if (started !== undefined) {
  void started.then(({ data, channel }) => {
    channel.on('message', (msg: EchoRequest) => {
      if (msg.crash === true) {
        process.stderr.write('echo worker: asked to crash\n');
        process.exit(3);
      }
      channel.postMessage({
        type: 'echo',
        variable: msg.variable === undefined ? undefined : (process.env[msg.variable] ?? null),
        doubled: msg.values?.map((v) => 2 * v),
        data,
      });
    });
    channel.postMessage({ type: 'ready', backend: 'none' });
  });
}
