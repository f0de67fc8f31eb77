import { codecNameOf, codecOf, codecSpecOf, createCodec, DEFAULT_BLUR_KERNEL } from '../../src/codec/codecs';
import { describeCrop, describeDecoding } from '../../src/codec/describe';
import type { CodecName } from '../../src/codec/heatmap-codec';
import { applyOverrides, defaultConfig } from '../../src/config/load';

describe('the codec of a config', () => {
  const base = applyOverrides(defaultConfig(), { 'TEST.SHIFT_HEATMAP': true, 'TEST.POST_PROCESS': true }, 'test');

  it('is the official codec by default, DARK with TEST.DECODE: dark, UDP with MODEL.USE_UDP', () => {
    expect(codecNameOf(base)).toBe('msra');
    expect(codecNameOf(applyOverrides(base, { 'TEST.DECODE': 'dark' }, 'test'))).toBe('dark');
    const udp = applyOverrides(base, { 'MODEL.USE_UDP': true, 'TEST.SHIFT_HEATMAP': false, 'TEST.DECODE': 'dark' }, 'test');
    expect(codecNameOf(udp)).toBe('udp');
    expect(codecOf(udp).name).toBe('udp');
  });

  it('takes sizes, σ and the test switches from the config', () => {
    expect(codecSpecOf(base)).toEqual({
      name: 'msra',
      imageSize: base.MODEL.IMAGE_SIZE,
      heatmapSize: base.MODEL.HEATMAP_SIZE,
      sigma: base.MODEL.SIGMA,
      postProcess: true,
      shiftHeatmap: true,
      blurKernel: DEFAULT_BLUR_KERNEL,
    });
  });

  it('rejects MODEL.USE_UDP with TEST.SHIFT_HEATMAP, naming the key and the fix', () => {
    expect(() => applyOverrides(base, { 'MODEL.USE_UDP': true }, 'test')).toThrow(/TEST\.SHIFT_HEATMAP: must be false with MODEL\.USE_UDP/);
  });

  it('rejects an unknown codec name', () => {
    expect(() => createCodec({ name: 'simcc' as CodecName, imageSize: [8, 8], heatmapSize: [2, 2], sigma: 2 })).toThrow(
      /unknown codec "simcc"; expected one of msra, dark, udp/,
    );
  });

  it('describes each decoding in its own words', () => {
    const spec = { imageSize: [96, 128] as [number, number], heatmapSize: [24, 32] as [number, number], sigma: 2, shiftHeatmap: true };
    const msra = describeDecoding(createCodec({ name: 'msra', ...spec }));
    const dark = describeDecoding(createCodec({ name: 'dark', ...spec }));
    const udp = describeDecoding(createCodec({ name: 'udp', ...spec }));
    expect(msra[1]).toMatch(/0\.25 · sign/);
    expect(dark[1]).toMatch(/DARK/);
    expect(udp[1]).toMatch(/DARK-UDP/);
    expect(udp[2]).toMatch(/\(W − 1\)/);
    expect(msra[4]).toMatch(/shift one pixel right/);
    expect(udp[4]).not.toMatch(/shift/);
    expect(describeCrop(createCodec({ name: 'udp', ...spec }), [96, 128])).toMatch(/\(96 − 1\)/);
  });
});
