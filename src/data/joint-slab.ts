/**
 * One Float64Array holding the joint arrays of many records: each record gets a view of `[K, 3]` values instead
 * of an array of its own, which for a train2017-sized file (262k persons, two arrays each) saves the per-buffer
 * bookkeeping and most of the garbage collector's work. A view posted to a worker thread would copy the whole
 * slab: post {@link ownedJoints} copies instead (the loader does).
 */
export class JointSlab {
  private readonly values: Float64Array;
  private used = 0;

  /**
   * @param capacity most views the slab hands out
   * @param size values per view (`3K`)
   */
  constructor(
    capacity: number,
    private readonly size: number,
  ) {
    this.values = new Float64Array(capacity * size);
  }

  /**
   * A view of the next `size` values, filled from `values` (zeros when absent).
   * @param values `[size]`
   * @returns `[size]`
   */
  take(values?: ArrayLike<number>): Float64Array {
    if (this.used + this.size > this.values.length) throw new RangeError(`JointSlab: all ${this.values.length / this.size} views are taken`);
    const view = this.values.subarray(this.used, this.used + this.size);
    this.used += this.size;
    if (values !== undefined) view.set(values);
    return view;
  }
}

/** `a` when it owns its whole buffer, else a copy of its values that does (cheap to post to a worker). */
export function ownedJoints(a: Float64Array): Float64Array {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice();
}
