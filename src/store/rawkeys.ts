/**
 * The keys of a JSON text's top-level object, in the order written, duplicates included.
 * JSON.parse hides both (integer-like keys are reordered, a repeated key keeps its last value), so the
 * reader checks key order and duplicates here. Assumes `text` already parsed as JSON.
 */
export function topLevelKeys(text: string): string[] | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r\uFEFF'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = () => {
    let depth = 0;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '"') {
        str();
        i--;
      } else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) return;
        depth--;
      } else if (c === ',' && depth === 0) return;
    }
  };
  ws();
  if (text[i] !== '{') return null;
  i++;
  const keys: string[] = [];
  ws();
  if (text[i] === '}') return keys;
  while (i < text.length) {
    ws();
    keys.push(str());
    ws();
    i++; // colon
    ws();
    value();
    if (text[i] === '}') break;
    i++; // comma
  }
  return keys;
}
