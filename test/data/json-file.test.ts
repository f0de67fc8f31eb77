import * as fs from 'fs';
import * as path from 'path';
import { readJsonFileWithout, withoutKeyValues } from '../../src/data/json-file';
import { makeTempDir, removeTempDir } from '../helpers/data';

const strip = (text: string, keys = ['segmentation']): string => withoutKeyValues(Buffer.from(text), keys).toString('utf8');

describe('withoutKeyValues', () => {
  it('replaces the value of every listed key by 0, whatever the value', () => {
    const doc = {
      annotations: [
        { id: 1, segmentation: [[1.5, 2, 3, 4]], keypoints: [1, 2, 2] },
        { id: 2, segmentation: { counts: 'a]b}c"[', size: [4, 5] }, area: 3 },
        { id: 3, segmentation: 'x\\"y', area: 2 },
        { id: 4, segmentation: -1.5e3 },
        { id: 5, segmentation: [] },
      ],
      note: 'a "segmentation": [1, 2] inside a string stays',
    };
    const out = JSON.parse(strip(JSON.stringify(doc))) as typeof doc;
    expect(out.annotations.map((a) => a.segmentation)).toEqual([0, 0, 0, 0, 0]);
    expect(out.annotations.map((a) => a.id)).toEqual([1, 2, 3, 4, 5]);
    expect(out.annotations[0].keypoints).toEqual([1, 2, 2]);
    expect(out.note).toBe(doc.note);
    const pretty = JSON.parse(strip(JSON.stringify(doc, null, 2).replace(/"segmentation": /g, '"segmentation":'))) as typeof doc;
    expect(pretty.annotations.map((a) => a.segmentation)).toEqual([0, 0, 0, 0, 0]);
  });

  it('returns the bytes themselves when no key occurs', () => {
    const bytes = Buffer.from('{"a": [1, 2]}');
    expect(withoutKeyValues(bytes, ['segmentation'])).toBe(bytes);
  });
});

describe('readJsonFileWithout', () => {
  it('parses what is left, and reports malformed JSON at its place in the file', () => {
    const dir = makeTempDir('json-without');
    try {
      const good = path.join(dir, 'good.json');
      fs.writeFileSync(good, '{"annotations": [{"id": 7, "segmentation": [[1, 2, 3]], "bbox": [1, 2, 3, 4]}]}');
      expect(readJsonFileWithout(good, 'annotation file', ['segmentation'])).toEqual({ annotations: [{ id: 7, segmentation: 0, bbox: [1, 2, 3, 4] }] });
      const bad = path.join(dir, 'bad.json');
      fs.writeFileSync(bad, '{"annotations": [{"id": 7, "segmentation": [[1, 2, 3]], "bbox": [1, 2,, 4]}]}');
      expect(() => readJsonFileWithout(bad, 'annotation file', ['segmentation'])).toThrow(/annotation file .*bad\.json: malformed JSON at line 1, column 71/);
      expect(() => readJsonFileWithout(path.join(dir, 'none.json'), 'annotation file', ['segmentation'])).toThrow(/annotation file not found: .*none\.json/);
    } finally {
      removeTempDir(dir);
    }
  });
});
