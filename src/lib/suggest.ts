/**
 * "Did you mean …?": the closest of a list of names to a misspelled one, for profiles,
 * flags and commands.
 */

/** The edit distance (Levenshtein) of two strings. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) => [i, ...Array(b.length).fill(0)] as number[])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
  return d[a.length][b.length]
}

/** The candidate closest to `name` (case-insensitive), when it is close enough to be a likely typo. */
export function closestMatch(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  return candidates
    .map((n) => ({n, d: editDistance(n.toLowerCase(), lower)}))
    .filter((x) => x.d <= Math.max(2, Math.floor(name.length / 3)))
    .sort((a, b) => a.d - b.d)[0]?.n
}
