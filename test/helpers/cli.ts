/**
 * Runs the `hrnet` command line in-process, as a user would call it, and returns what it printed
 * on stdout (stderr — the backend line, progress notes — is silenced).
 */
import { main } from '../../src/cli/main';

/** Runs `hrnet <argv…>`; resolves to the stdout lines joined by newlines; rejects with the command's error. */
export async function runCli(argv: string[]): Promise<string> {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    await main(argv);
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
  return lines.join('\n');
}
