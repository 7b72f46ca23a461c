/**
 * The first merge of a batch that breaks the check. `passes(k)` says whether the integration
 * branch passes the check with the batch's first `k` merges applied; the whole batch (k = n) is
 * known to fail and none of it (k = 0) is known to pass. Returns the index of the culprit and the
 * prefixes it checked. Assumes what a merge queue assumes: once broken, later merges do not fix
 * it (a flaky check can mislead bisection, as it would mislead any merge queue).
 */
export async function firstBreaking(
  size: number,
  passes: (prefix: number) => Promise<boolean>,
): Promise<{ culprit: number; checked: number[] }> {
  let good = 0;
  let bad = size;
  const checked: number[] = [];
  while (bad - good > 1) {
    const middle = Math.floor((good + bad) / 2);
    checked.push(middle);
    if (await passes(middle)) good = middle;
    else bad = middle;
  }
  return { culprit: bad - 1, checked };
}
