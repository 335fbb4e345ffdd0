/** The `<!-- example: NAME -->` code blocks of a Markdown document, by name (docs tests run them). */
export function examplesOf(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /<!-- example: ([\w-]+) -->\s*```(?:js|ts|javascript)\n([\s\S]*?)```\s*<!-- \/example -->/g;
  for (const m of markdown.matchAll(re)) out.set(m[1]!, m[2]!);
  return out;
}
