/**
 * A static file server on 127.0.0.1 for browser tests: URL prefixes mapped to folders (or single files),
 * GET only, nothing outside the mapped folders. `http://127.0.0.1` is a secure origin, so pages get
 * `navigator.gpu`.
 */
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';

/** One mount: every path under `prefix` is looked up in `dir`, or `prefix` itself is `file`. */
export type StaticMount = { prefix: string; dir: string } | { prefix: string; file: string };

/** A running server. */
export interface StaticServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  origin: string;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.wasm': 'application/wasm',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
};

/** The file a URL path maps to, or null. */
function resolveFile(urlPath: string, mounts: readonly StaticMount[]): string | null {
  for (const m of mounts) {
    if ('file' in m) {
      if (urlPath === m.prefix) return m.file;
      continue;
    }
    if (!urlPath.startsWith(m.prefix)) continue;
    let rel = urlPath.slice(m.prefix.length);
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    const file = path.resolve(m.dir, rel);
    if (file === path.resolve(m.dir) || !file.startsWith(path.resolve(m.dir) + path.sep)) return null;
    return file;
  }
  return null;
}

/** Serves `mounts` (first match wins) on a free port of 127.0.0.1. */
export async function serveStatic(mounts: readonly StaticMount[]): Promise<StaticServer> {
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const file = req.method === 'GET' ? resolveFile(urlPath, mounts) : null;
    if (file === null || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
