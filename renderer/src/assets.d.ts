// Vite turns stylesheet imports into injected <link>s; TypeScript only needs to know they exist.
declare module '*.css'
