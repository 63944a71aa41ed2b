// The constitution preview: CommonMark + GitHub's extensions (tables, task lists, strikethrough,
// autolinks) through react-markdown and remark-gfm, rendered as React elements, never innerHTML.
// Sanitised for the app's own window: raw HTML in the text is dropped, images show as their alt text
// (nothing is fetched), and links are shown, not followed (the window never navigates away).
import Markdown, { type Components } from 'react-markdown'
import remarkGfm from 'remark-gfm'

// The page's own h1 is the editor's title: the document's headings sit one level below it.
const components: Components = {
  h1: ({ children }) => <h2>{children}</h2>,
  h2: ({ children }) => <h3>{children}</h3>,
  h3: ({ children }) => <h4>{children}</h4>,
  h4: ({ children }) => <h5>{children}</h5>,
  h5: ({ children }) => <h6>{children}</h6>,
  h6: ({ children }) => <h6>{children}</h6>,
  img: ({ alt }) => (
    <span className="md-image" role="img" aria-label={alt ? `Image: ${alt}` : 'Image'}>
      {alt ? `[image: ${alt}]` : '[image]'}
    </span>
  ),
  a: ({ children, href }) => (
    <span className="md-link" title={href ?? undefined} data-href={href ?? undefined}>
      {children}
    </span>
  ),
}

export function MarkdownPreview({ source }: { source: string }) {
  if (source.trim() === '') {
    return (
      <div className="markdown">
        <p className="muted">Nothing to preview yet.</p>
      </div>
    )
  }
  return (
    <div className="markdown">
      <Markdown remarkPlugins={[remarkGfm]} components={components} skipHtml>
        {source}
      </Markdown>
    </div>
  )
}
