/**
 * The decoding and flip-test settings every export records come from the checkpoint's config:
 * the main job (`configs/synthetic/w16_128x96.yaml`) says DARK, the official COCO configs the
 * official argmax with the quarter-pixel shift.
 */
import * as path from 'path';
import { loadConfig } from '../../src/config/load';
import { COCO_META } from '../../src/data/keypoint-meta';
import { buildExportMeta, decodingOfConfig } from '../../src/io/export-meta';

const CONFIGS = path.resolve(__dirname, '..', '..', 'configs');

describe('decodingOfConfig', () => {
  it('the main job decodes with DARK; its meta says so in every format', () => {
    const config = loadConfig(path.join(CONFIGS, 'synthetic', 'w16_128x96.yaml'));
    const decode = decodingOfConfig(config);
    expect(decode).toMatchObject({ method: 'dark', blurKernel: 11, postProcess: config.TEST.POST_PROCESS, flipTest: config.TEST.FLIP_TEST });
    expect(decode.steps.join('\n')).toMatch(/DARK/);
    for (const network of [
      { modelFile: 'model.json', layout: 'NHWC' as const },
      { modelFile: 'model.onnx', layout: 'NCHW' as const },
      { modelFile: 'model.pth', layout: 'NCHW' as const },
    ]) {
      const meta = buildExportMeta(config, [96, 128], COCO_META, network);
      expect(meta.decode).toEqual(decode);
      expect(meta.layout).toBe(network.layout);
    }
  });

  it('the official COCO config: the msra codec (argmax + quarter offset), flip test with the heatmap shift', () => {
    const config = loadConfig(path.join(CONFIGS, 'coco', 'w32_256x192.yaml'));
    const decode = decodingOfConfig(config);
    expect(decode).toMatchObject({ method: 'msra', postProcess: true, flipTest: true, shiftHeatmap: true });
    expect(decode.blurKernel).toBeUndefined();
    const off = decodingOfConfig(loadConfig(path.join(CONFIGS, 'coco', 'w32_256x192.yaml'), ['TEST.FLIP_TEST=false', 'TEST.POST_PROCESS=false']));
    expect(off).toMatchObject({ flipTest: false, postProcess: false });
  });
});
