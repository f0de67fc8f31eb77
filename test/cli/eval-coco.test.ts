import * as fs from 'fs';
import * as os from 'os';
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

  it('names both files when a result is on an image the ground truth does not have', async () => {
    const dir = path.join(FIXTURES_DIR, 'cocoeval', 'case_a');
    const results = readFixtureJson<{ image_id: number }[]>('cocoeval/case_a/results.json');
    results[2].image_id = 4242;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-coco-'));
    try {
      const file = path.join(tmp, 'results.json');
      fs.writeFileSync(file, JSON.stringify(results));
      const gt = path.join(dir, 'gt.json');
      const error = await runCli(['eval-coco', '--gt', gt, '--results', file]).then(
        () => new Error('no error'),
        (e: Error) => e,
      );
      expect(error.message.split('\n')[0]).toBe(
        `results file ${file}: results[2].image_id: 4242 is not an image of the ground-truth file ${gt}; expected the id of one of its "images"`,
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('names a missing file', async () => {
    await expect(runCli(['eval-coco', '--gt', 'nope.json', '--results', 'nope2.json'])).rejects.toThrow(/nope\.json/);
  });
});
