import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FIXTURES_DIR, readFixtureJson } from '../helpers/fixtures';
import { runCli } from '../helpers/cli';

interface PckhCase {
  preds: number[][][];
  expected: { summary: Record<string, number> };
}

const SUMMARY_NAMES = ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean', 'Mean@0.1'];


let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hrnet-eval-pckh-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('hrnet eval-pckh', () => {
  it.each(['case_a', 'case_b'])('prints the official summary of %s as JSON', async (c) => {
    const file = path.join(FIXTURES_DIR, 'pckh', `${c}.json`);
    const out = await runCli(['eval-pckh', '--gt', file, '--preds', file, '--json']);
    const summary = JSON.parse(out) as Record<string, number>;
    const expected = readFixtureJson<PckhCase>(`pckh/${c}.json`).expected.summary;
    expect(Object.keys(summary)).toEqual(SUMMARY_NAMES);
    for (const k of SUMMARY_NAMES) expect(Math.abs(summary[k] - expected[k])).toBeLessThan(1e-9);
  });

  it('reads predictions given as a bare list and prints the official table', async () => {
    const gt = path.join(FIXTURES_DIR, 'pckh', 'case_a.json');
    const fixture = readFixtureJson<PckhCase>('pckh/case_a.json');
    const predsFile = path.join(dir, 'preds.json');
    fs.writeFileSync(predsFile, JSON.stringify(fixture.preds));
    const lines = (await runCli(['eval-pckh', '--gt', gt, '--preds', predsFile])).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(`| Arch ${SUMMARY_NAMES.map((n) => `| ${n}`).join(' ')} |`);
    expect(lines[1]).toBe('|---'.repeat(SUMMARY_NAMES.length + 1) + '|');
    const cells = lines[2].split('|').map((s) => s.trim()).filter((s) => s !== '');
    expect(cells[0]).toBe('pose_hrnet');
    const values = cells.slice(1).map(Number);
    SUMMARY_NAMES.forEach((n, i) => expect(Math.abs(values[i] - fixture.expected.summary[n])).toBeLessThanOrEqual(0.0005));
  });

  it('names the file and the field that is missing or does not match', async () => {
    const gt = path.join(FIXTURES_DIR, 'pckh', 'case_a.json');
    const other = path.join(FIXTURES_DIR, 'pckh', 'case_b.json');
    await expect(runCli(['eval-pckh', '--gt', path.join(dir, 'none.json'), '--preds', gt])).rejects.toThrow(/none\.json/);
    const noHeadboxes = path.join(dir, 'no-headboxes.json');
    const { preds, gt_joints, jnt_missing } = readFixtureJson<Record<string, unknown>>('pckh/case_a.json');
    fs.writeFileSync(noHeadboxes, JSON.stringify({ preds, gt_joints, jnt_missing }));
    await expect(runCli(['eval-pckh', '--gt', noHeadboxes, '--preds', gt])).rejects.toThrow(/no-headboxes\.json: field "headboxes"/);
    await expect(runCli(['eval-pckh', '--gt', gt, '--preds', other])).rejects.toThrow(/case_b\.json has 250 persons but .*case_a\.json has 24/);
  });
});
