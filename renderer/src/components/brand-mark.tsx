// The app's mark in the page (title bar, welcome screen): the same drawing as resources/icon-small.svg,
// inline so it needs no image request and scales crisply.
export function BrandMark({ large }: { large?: boolean }) {
  return (
    <svg className={large ? 'brand-mark large' : 'brand-mark'} viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      <defs>
        <linearGradient id="brand-mark-bg" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stopColor="#5b54f0" />
          <stop offset="1" stopColor="#3b2fc9" />
        </linearGradient>
      </defs>
      <rect width="16" height="16" rx="3.5" fill="url(#brand-mark-bg)" />
      <path d="M3 3 H13 V11 H3 Z M4 4 V10 H12 V4 Z" fill="#fff" fillRule="evenodd" />
      <rect x="6" y="5" width="4" height="4" fill="#fff" />
      <rect x="7" y="11" width="2" height="1" fill="#fff" />
      <rect x="5" y="12" width="6" height="1" fill="#fff" />
    </svg>
  )
}
