import { ConfigError, closestKey, editDistance } from '../../src/config/errors';

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('NUM_CHANELS', 'NUM_CHANNELS')).toBe(1);
    expect(editDistance('SIGMA', 'SIGMAS')).toBe(1);
    expect(editDistance('TOPK', 'TOPQ')).toBe(1);
    expect(editDistance('', 'ABC')).toBe(3);
    expect(editDistance('ABC', 'ABC')).toBe(0);
  });

  it('counts a swap of neighbouring characters as one edit', () => {
    expect(editDistance('TRIAN', 'TRAIN')).toBe(1);
  });

  it('ignores case', () => {
    expect(editDistance('lr', 'LR')).toBe(0);
    expect(editDistance('flip_test', 'FLIP_TEST')).toBe(0);
  });
});

describe('closestKey', () => {
  const stageKeys = ['NUM_MODULES', 'NUM_BRANCHES', 'BLOCK', 'NUM_BLOCKS', 'NUM_CHANNELS', 'FUSE_METHOD'];

  it('returns the nearest candidate for a typo', () => {
    expect(closestKey('NUM_CHANELS', stageKeys)).toBe('NUM_CHANNELS');
    expect(closestKey('NUM_BLOCK', stageKeys)).toBe('NUM_BLOCKS');
    expect(closestKey('block', stageKeys)).toBe('BLOCK');
  });

  it('returns undefined when nothing is plausibly meant', () => {
    expect(closestKey('LEARNING_RATE_SCHEDULE', stageKeys)).toBeUndefined();
    expect(closestKey('X', [])).toBeUndefined();
  });
});

describe('ConfigError', () => {
  it('prefixes the message with the file and keeps file, key and line', () => {
    const error = new ConfigError({ file: 'a.yaml', key: 'TRAIN.LR' }, 'TRAIN.LR: expected a number, got "fast"');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(error.message).toBe('a.yaml: TRAIN.LR: expected a number, got "fast"');
    expect(error.file).toBe('a.yaml');
    expect(error.key).toBe('TRAIN.LR');
    expect(error.line).toBeUndefined();
  });

  it('adds the line when known', () => {
    const error = new ConfigError({ file: 'b.yaml', line: 7 }, 'malformed YAML');
    expect(error.message).toBe('b.yaml:7: malformed YAML');
    expect(error.line).toBe(7);
    expect(error.key).toBeUndefined();
  });
});
