/** `text` cut to at most `max` characters, the last one an ellipsis, so a reader sees it was cut (status fields and messages have size limits). */
export function ellipsize(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
