import sharp from 'sharp';
import { escapeXml, estimateTextWidth, num, rgbCss, svgCircle, svgDocument, svgLine, svgPolyline, svgRect, svgText } from '../../src/viz/svg';
import { decodePng, pixelAt } from '../helpers/viz';

describe('svg', () => {
  test('escapeXml escapes the five XML specials', () => {
    expect(escapeXml(`a<b>&"c"'d'`)).toBe('a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;');
  });

  test('num keeps at most two decimals; rgbCss rounds and clamps', () => {
    expect(num(1.23456)).toBe('1.23');
    expect(num(-0.004)).toBe('0');
    expect(num(3)).toBe('3');
    expect(rgbCss([0, 127.6, 300])).toBe('rgb(0,128,255)');
  });

  test('text is escaped and takes its style', () => {
    const t = svgText(10, 20, 'loss < 0.5 & AP', { fontSize: 12, anchor: 'middle', rotate: -90, bold: true });
    expect(t).toContain('loss &lt; 0.5 &amp; AP');
    expect(t).toContain('text-anchor="middle"');
    expect(t).toContain('rotate(-90 10 20)');
    expect(t).toContain('font-weight="bold"');
    expect(estimateTextWidth('abcd', 10)).toBeCloseTo(24);
  });

  test('shapes rasterise where they are placed', async () => {
    const body =
      svgRect(0, 0, 40, 30, { fill: 'white' }) +
      svgRect(2, 2, 10, 10, { fill: rgbCss([255, 0, 0]) }) +
      svgCircle(30, 7, 4, { fill: rgbCss([0, 0, 255]) }) +
      svgLine(0, 20.5, 40, 20.5, { stroke: rgbCss([0, 255, 0]), strokeWidth: 3 }) +
      svgPolyline([[0, 27.5], [40, 27.5]], { stroke: 'black', strokeWidth: 3, dash: [100, 1] });
    const png = await sharp(Buffer.from(svgDocument(40, 30, body))).flatten({ background: '#ffffff' }).png().toBuffer();
    const img = await decodePng(png);
    expect([img.width, img.height]).toEqual([40, 30]);
    expect(pixelAt(img, 6, 6)).toEqual([255, 0, 0]);
    expect(pixelAt(img, 30, 7)).toEqual([0, 0, 255]);
    expect(pixelAt(img, 20, 20)).toEqual([0, 255, 0]);
    expect(pixelAt(img, 20, 27)).toEqual([0, 0, 0]);
    expect(pixelAt(img, 20, 10)).toEqual([255, 255, 255]);
  });
});
