/**
 * The one results table of the project, the official `_print_name_value` (`lib/core/function.py`): what `hrnet
 * eval`, `hrnet eval-pckh` and the validation of every training epoch print.
 */
import { formatFixed } from './coco-eval';

/**
 * The official results table (`_print_name_value`): a header `| Arch | name | … |`, a separator and one
 * row of values with 3 decimals; architecture names longer than 15 characters are cut to 8 + '...'.
 * @param nameValue `[M]` pairs of name and value, in print order.
 * @returns the three table lines.
 */
export function formatNameValueTable(nameValue: readonly [string, number][], fullArchName: string): string[] {
  const arch = fullArchName.length > 15 ? `${fullArchName.slice(0, 8)}...` : fullArchName;
  return [
    `| Arch ${nameValue.map(([name]) => `| ${name}`).join(' ')} |`,
    `${'|---'.repeat(nameValue.length + 1)}|`,
    `| ${arch} ${nameValue.map(([, v]) => `| ${formatFixed(v, 3)}`).join(' ')} |`,
  ];
}
