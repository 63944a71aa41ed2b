import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CONTENT_SECURITY_POLICY, isAllowedAppNavigation, isAllowedExternalUrl, isTrustedSenderUrl, mimeTypeFor, resolveAppAsset } from './app-protocol'

const root = resolve('/srv/renderer')

describe('resolveAppAsset', () => {
  it.each([
    ['app://dictumal/', resolve(root, 'index.html')],
    ['app://dictumal/index.html', resolve(root, 'index.html')],
    ['app://dictumal/assets/index-abc.js?x=1#y', resolve(root, 'assets/index-abc.js')],
  ])('maps %s inside the root', (url, expected) => {
    expect(resolveAppAsset(root, url)).toBe(expected)
  })

  it('keeps dot segments that the URL parser resolves inside the root', () => {
    expect(resolveAppAsset(root, 'app://dictumal/../secret.txt')).toBe(resolve(root, 'secret.txt'))
    expect(resolveAppAsset(root, 'app://dictumal/%2e%2e/secret.txt')).toBe(resolve(root, 'secret.txt'))
  })

  it.each([
    'app://dictumal/assets/..%2f..%2fsecret.txt',
    'app://dictumal/a%5c..%5c..%5csecret',
    'app://dictumal/%00',
    'app://evil/index.html',
    'file:///etc/passwd',
    'https://dictumal/index.html',
    'not a url',
  ])('refuses %s', (url) => {
    expect(resolveAppAsset(root, url)).toBeNull()
  })
})

describe('senders and navigation', () => {
  it('trusts only frames on app://dictumal', () => {
    expect(isTrustedSenderUrl('app://dictumal/index.html')).toBe(true)
    expect(isTrustedSenderUrl('https://203.0.113.5/guacamole/')).toBe(false)
    expect(isTrustedSenderUrl('app://dictumal.evil/index.html')).toBe(false)
    expect(isTrustedSenderUrl('')).toBe(false)
    expect(isTrustedSenderUrl(undefined)).toBe(false)
    expect(isAllowedAppNavigation('https://example.com/')).toBe(false)
  })

  it('serves types the renderer needs and a CSP without inline script', () => {
    expect(mimeTypeFor('a/b.JS')).toMatch(/javascript/)
    expect(mimeTypeFor('x.unknown')).toBe('application/octet-stream')
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'")
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline')
    expect(CONTENT_SECURITY_POLICY).toContain("object-src 'none'")
  })
})

describe('isAllowedExternalUrl', () => {
  it('lets only DigitalOcean help pages out to the browser', () => {
    expect(isAllowedExternalUrl('https://cloud.digitalocean.com/account/api/tokens')).toBe(true)
    expect(isAllowedExternalUrl('https://docs.digitalocean.com/reference/api/create-personal-access-token/')).toBe(true)
    expect(isAllowedExternalUrl('http://cloud.digitalocean.com/')).toBe(false)
    expect(isAllowedExternalUrl('https://cloud.digitalocean.com.evil.example/')).toBe(false)
    expect(isAllowedExternalUrl('https://user@cloud.digitalocean.com/')).toBe(false)
    expect(isAllowedExternalUrl('file:///etc/passwd')).toBe(false)
    expect(isAllowedExternalUrl('javascript:alert(1)')).toBe(false)
  })
})
