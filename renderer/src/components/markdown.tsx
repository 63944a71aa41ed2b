// A deliberately tiny markdown preview (headings, lists, quotes, code, emphasis) built from React
// elements, never innerHTML, so user text cannot inject markup into the page.
import type { ReactNode } from 'react'

function inline(text: string, key: string): ReactNode[] {
  const out: ReactNode[] = []
  const pattern = /(`[^`]+`|\*\*[^*]+\*\*|\*[^*]+\*|_[^_]+_)/g
  let last = 0
  let n = 0
  for (const match of text.matchAll(pattern)) {
    const token = match[0]
    const at = match.index
    if (at > last) out.push(text.slice(last, at))
    const k = `${key}-${n++}`
    if (token.startsWith('`')) out.push(<code key={k}>{token.slice(1, -1)}</code>)
    else if (token.startsWith('**')) out.push(<strong key={k}>{token.slice(2, -2)}</strong>)
    else out.push(<em key={k}>{token.slice(1, -1)}</em>)
    last = at + token.length
  }
  if (last < text.length) out.push(text.slice(last))
  return out
}

export function MarkdownPreview({ source }: { source: string }) {
  const blocks: ReactNode[] = []
  const lines = source.replace(/\r\n/g, '\n').split('\n')
  let i = 0
  while (i < lines.length) {
    const line = lines[i] ?? ''
    const key = `b${i}`
    if (line.startsWith('```')) {
      const code: string[] = []
      i++
      while (i < lines.length && !(lines[i] ?? '').startsWith('```')) code.push(lines[i++] ?? '')
      i++
      blocks.push(<pre key={key}><code>{code.join('\n')}</code></pre>)
      continue
    }
    const heading = /^(#{1,4})\s+(.*)$/.exec(line)
    if (heading) {
      const level = Math.min(4, (heading[1] ?? '#').length + 1)
      const content = inline(heading[2] ?? '', key)
      blocks.push(
        level === 2 ? <h2 key={key}>{content}</h2> : level === 3 ? <h3 key={key}>{content}</h3> : <h4 key={key}>{content}</h4>,
      )
      i++
      continue
    }
    if (/^\s*([-*]|\d+\.)\s+/.test(line)) {
      const ordered = /^\s*\d+\./.test(line)
      const items: ReactNode[] = []
      while (i < lines.length && /^\s*([-*]|\d+\.)\s+/.test(lines[i] ?? '')) {
        items.push(<li key={`${key}-${i}`}>{inline((lines[i] ?? '').replace(/^\s*([-*]|\d+\.)\s+/, ''), `${key}-${i}`)}</li>)
        i++
      }
      blocks.push(ordered ? <ol key={key}>{items}</ol> : <ul key={key}>{items}</ul>)
      continue
    }
    if (line.startsWith('>')) {
      blocks.push(<blockquote key={key}>{inline(line.replace(/^>\s?/, ''), key)}</blockquote>)
      i++
      continue
    }
    if (line.trim() === '') {
      i++
      continue
    }
    // The first line is always taken, so text like "#tag" (not a heading) cannot stall the loop.
    const para: string[] = [line]
    i++
    while (i < lines.length && (lines[i] ?? '').trim() !== '' && !/^(#|```|>|\s*([-*]|\d+\.)\s)/.test(lines[i] ?? '')) {
      para.push(lines[i++] ?? '')
    }
    blocks.push(<p key={key}>{inline(para.join(' '), key)}</p>)
  }
  return <div className="markdown">{blocks.length > 0 ? blocks : <p className="muted">Nothing to preview yet.</p>}</div>
}
