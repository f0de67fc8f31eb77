import * as path from 'path';
import { FIXTURES_DIR, readFixtureJson } from '../helpers/fixtures';
import { runCli } from '../helpers/cli';


describe('hrnet eval-coco', () => {
  it.each(['case_a', 'case_b', 'case_real'])('prints the pycocotools statistics of %s as JSON', async (c) => {
    const dir = path.join(FIXTURES_DIR, 'cocoeval', c);
    const out = await runCli(['eval-coco', '--gt', path.join(dir, 'gt.json'), '--results', path.join(dir, 'results.json'), '--json']);
    const stats = JSON.parse(out) as Record<string, number>;
    const expected = readFixtureJson<{ stats: Record<string, number> }>(`cocoeval/${c}/expected.json`).stats;
    expect(Object.keys(stats)).toEqual(['AP', 'AP50', 'AP75', 'APm', 'APl', 'AR', 'AR50', 'AR75', 'ARm', 'ARl']);
    for (const k of Object.keys(stats)) expect(Math.abs(stats[k] - expected[k])).toBeLessThan(1e-12);
  });

  it('prints the pycocotools table', async () => {
    const dir = path.join(FIXTURES_DIR, 'cocoeval', 'case_a');
    const out = await runCli(['eval-coco', '--gt', path.join(dir, 'gt.json'), '--results', path.join(dir, 'results.json')]);
    const expected = readFixtureJson<{ summary_lines: string[] }>('cocoeval/case_a/expected.json').summary_lines;
    expect(out.split('\n')).toEqual(expected);
  });

  it('names a missing file', async () => {
    await expect(runCli(['eval-coco', '--gt', 'nope.json', '--results', 'nope2.json'])).rejects.toThrow(/nope\.json/);
  });
});
