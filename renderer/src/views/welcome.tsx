// First run: no token yet. One screen that explains what Dictumal needs and takes the token.
import { TokenForm } from '../components/token-form'
import { useAppStore } from '../store'
import { BrandMark } from '../components/brand-mark'

export function Welcome() {
  const auth = useAppStore((s) => s.auth)
  return (
    <section className="welcome" aria-labelledby="welcome-title">
      <div className="welcome-card">
        <BrandMark large />
        <h1 id="welcome-title">Welcome to Dictumal</h1>
        <p>
          Dictumal builds a full Linux desktop on <strong>your own DigitalOcean account</strong> and opens it
          here. To do that it needs a DigitalOcean API token.
        </p>
        {auth && !auth.keychain.available && (
          <div role="status" className="note warn">
            <p className="note-title">
              {auth.keychain.message ?? 'The system keychain is not available, so Dictumal cannot store a token.'}
            </p>
            {!auth.keychain.message?.includes('DIGITALOCEAN_API_TOKEN') && (
              <p>You can still set DIGITALOCEAN_API_TOKEN in the environment before starting Dictumal.</p>
            )}
          </div>
        )}
        {auth?.problem && (
          <div role="status" className="note error">
            <p className="note-title">{auth.problem.message}</p>
            {auth.problem.hint && <p>{auth.problem.hint}</p>}
          </div>
        )}
        <TokenForm submitLabel="Connect" />
      </div>
    </section>
  )
}
