// Issue 14, items 1 and 4 in real Chromium over the real core: the keyboard (the help sheet, the app
// menu's commands as keys and as navigate requests from main, opening the selected desktop, the Full
// screen button's label) and the constitution editor that does not lose work (Discard changes?,
// drafts, Ctrl+S, validation that clears, the react-markdown preview, sanitised).
import { expect, test, type Page } from '@playwright/test'
import { createConstitution } from '../main/core/store'
import { artifactPath } from './artifacts'
import { seriousAxeFindings } from './axe-check'
import { startUiApp, type UiApp } from './ui-harness'

let app: UiApp | undefined

test.afterEach(async () => {
  await app?.close()
  app = undefined
})

const heading = (page: Page, name: string) => page.getByRole('heading', { name, level: 1 })
const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name })

test('keyboard: help sheet, view switching, new constitution, menu commands from main', async () => {
  app = await startUiApp()
  const { page, host } = app
  await expect(heading(page, 'Deployments')).toBeVisible()

  // F1 (and ?) opens the sheet; it lists every command and the key that leaves the embedded desktop.
  await page.keyboard.press('F1')
  const sheet = page.getByRole('dialog', { name: 'Keyboard shortcuts' })
  await expect(sheet).toBeVisible()
  for (const [keys, label] of [
    ['Ctrl+N', 'New deployment'],
    ['Ctrl+Shift+N', 'New constitution'],
    ['Ctrl+O', 'Open the selected desktop'],
    ['Ctrl+1', 'Deployments'],
    ['Ctrl+S', 'Save the constitution'],
    ['Ctrl+Shift+F12', 'Leave the embedded desktop'],
  ] as const) {
    await expect(sheet.getByRole('row').filter({ hasText: label }).locator('kbd')).toHaveText(keys)
  }
  await page.screenshot({ path: artifactPath('keyboard-01-help-sheet.png') })
  expect(await seriousAxeFindings(page)).toEqual([])
  // Keys do nothing behind an open dialog.
  await page.keyboard.press('Control+2')
  await expect(heading(page, 'Deployments')).toBeVisible()
  await page.keyboard.press('Escape')
  await expect(sheet).toBeHidden()
  await page.keyboard.press('Shift+?')
  await expect(sheet).toBeVisible()
  await sheet.getByRole('button', { name: 'Close' }).click()

  await page.keyboard.press('Control+2')
  await expect(heading(page, 'Constitutions')).toBeVisible()
  await page.keyboard.press('Control+3')
  await expect(heading(page, 'Settings')).toBeVisible()
  await page.keyboard.press('Control+Shift+N')
  await expect(heading(page, 'New constitution')).toBeVisible()
  // ? typed into a field is text, not the sheet.
  await page.getByLabel('Name').pressSequentially('Why?')
  await expect(page.getByLabel('Name')).toHaveValue('Why?')
  await expect(sheet).toBeHidden()
  await page.getByLabel('Name').fill('')
  await page.keyboard.press('Control+1')
  await expect(heading(page, 'Deployments')).toBeVisible()
  await page.keyboard.press('Control+n')
  await expect(page.getByRole('dialog', { name: 'New deployment' })).toBeVisible()
  await page.keyboard.press('Escape')

  // The app menu's items arrive as navigate requests from main (on macOS the menu takes the keys).
  await host.emit('navigate', { view: 'settings' })
  await expect(heading(page, 'Settings')).toBeVisible()
  await host.emit('navigate', { view: 'new-constitution' })
  await expect(heading(page, 'New constitution')).toBeVisible()
  await host.emit('navigate', { view: 'shortcuts' })
  await expect(sheet).toBeVisible()
  await page.keyboard.press('Escape')
  await host.emit('navigate', { view: 'open-selected' })
  await expect(page.getByRole('alert')).toContainText('No desktop is running yet.')
  expect(app.host.errors).toEqual([])
})

test('Ctrl+O opens the selected running desktop; Full screen becomes Exit full screen', async () => {
  test.setTimeout(90_000)
  app = await startUiApp()
  const { page, services } = app
  const created = await createConstitution(services.store, { name: 'Keys desk', body: '# Keys\n' })
  if (!created.ok) throw new Error(created.error.message)
  await services.engine.create({ constitutionId: created.value.id, region: 'nyc3', size: 's-2vcpu-4gb' })
  const card = page.locator('[data-deployment-id]')
  await expect(card).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 })
  await card.getByRole('heading', { level: 2 }).click()
  await expect(card).toHaveAttribute('data-selected', 'true')
  await page.keyboard.press('Control+o')
  const toolbar = page.getByRole('navigation', { name: 'Desktop' })
  await expect(toolbar).toBeVisible()
  expect(app.shellCalls.filter((c) => c.kind === 'open').map((c) => c.detail.split(' ').slice(0, 2).join(' '))).toEqual([
    `embedded ${services.engine.list()[0]?.id}`,
  ])

  const full = toolbar.getByRole('button', { name: 'Full screen' })
  await full.click()
  await expect(toolbar.getByRole('button', { name: 'Exit full screen' })).toHaveAttribute('aria-pressed', 'true')
  await page.screenshot({ path: artifactPath('keyboard-02-exit-full-screen.png') })
  await toolbar.getByRole('button', { name: 'Exit full screen' }).click()
  await expect(toolbar.getByRole('button', { name: 'Full screen' })).toHaveAttribute('aria-pressed', 'false')
  expect(app.shellCalls.filter((c) => c.kind === 'action').map((c) => c.detail)).toEqual(['fullscreen', 'fullscreen'])
})

test('editor: discard guard, draft restore, Ctrl+S, validation that clears', async () => {
  app = await startUiApp()
  const { page } = app
  await nav(page, 'Constitutions').click()
  await page.getByRole('button', { name: /Write your first constitution/ }).click()
  await page.getByLabel('Name').fill('Draft desk')
  await page.getByLabel('Body (markdown)').fill('# Draft\n\nWords I do not want to lose.\n')
  await expect(page.getByText('Unsaved changes · draft kept')).toBeVisible()

  // Leaving by the sidebar asks; keeping on editing keeps every word.
  await nav(page, 'Deployments').click()
  const discard = page.getByRole('dialog', { name: 'Discard changes?' })
  await expect(discard).toBeVisible()
  await expect(discard).toContainText('Your changes to “Draft desk” are not saved.')
  await page.screenshot({ path: artifactPath('editor-01-discard-changes.png') })
  await discard.getByRole('button', { name: 'Cancel' }).click()
  await expect(page.getByLabel('Name')).toHaveValue('Draft desk')
  // Cancel asks too, and so does a menu command.
  await page.getByRole('button', { name: 'Cancel', exact: true }).click()
  await expect(discard).toBeVisible()
  await page.keyboard.press('Escape')
  await app.host.emit('navigate', { view: 'deployments' })
  await expect(discard).toBeVisible()
  await discard.getByRole('button', { name: 'Cancel' }).click()

  // Closing the window (here: a reload) asks through beforeunload; the draft survives it.
  await page.waitForTimeout(600) // the draft is written once typing pauses
  const asked = new Promise<string>((resolve) => page.once('dialog', (dialog) => void dialog.accept().then(() => resolve(dialog.type()))))
  await page.reload()
  expect(await asked).toBe('beforeunload')
  await nav(page, 'Constitutions').click()
  await page.getByRole('button', { name: /Write your first constitution/ }).click()
  await expect(page.getByRole('status').filter({ hasText: 'Restored your unsaved draft' })).toBeVisible()
  await expect(page.getByLabel('Name')).toHaveValue('Draft desk')
  await expect(page.getByLabel('Body (markdown)')).toHaveValue('# Draft\n\nWords I do not want to lose.\n')

  // Validation: the message goes as soon as the name is back.
  await page.getByLabel('Name').fill('   ')
  await page.keyboard.press('Control+s')
  await expect(page.getByText('Give the constitution a name.')).toBeVisible()
  await page.getByLabel('Name').pressSequentially('Kept desk')
  await expect(page.getByText('Give the constitution a name.')).toBeHidden()

  // Ctrl+S saves and leaves; the draft is gone, so a new constitution starts clean.
  await page.keyboard.press('Control+s')
  await expect(page.getByRole('heading', { name: 'Kept desk', level: 2 })).toBeVisible()
  expect(app.services.store.read().constitutions.map((c) => c.name)).toEqual(['Kept desk'])
  await page.getByRole('button', { name: 'New constitution' }).click()
  await expect(page.getByText('Restored your unsaved draft')).toBeHidden()
  // Nothing changed yet: leaving does not ask.
  await nav(page, 'Deployments').click()
  await expect(heading(page, 'Deployments')).toBeVisible()

  // Discard throws the changes and the draft away.
  await nav(page, 'Constitutions').click()
  await page.getByRole('button', { name: 'Edit Kept desk' }).click()
  await page.getByLabel('Body (markdown)').fill('changed')
  await nav(page, 'Settings').click()
  await page.getByRole('dialog', { name: 'Discard changes?' }).getByRole('button', { name: 'Discard changes' }).click()
  await expect(heading(page, 'Settings')).toBeVisible()
  await nav(page, 'Constitutions').click()
  await page.getByRole('button', { name: 'Edit Kept desk' }).click()
  await expect(page.getByLabel('Body (markdown)')).toHaveValue('# Draft\n\nWords I do not want to lose.\n')
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('dictumal.draft.')))).toEqual([])
  expect(app.host.errors).toEqual([])
})

test('preview: GitHub-flavoured markdown through react-markdown, sanitised', async () => {
  app = await startUiApp()
  const { page } = app
  await nav(page, 'Constitutions').click()
  await page.getByRole('button', { name: /Write your first constitution/ }).click()
  await page.getByLabel('Name').fill('Rich desk')
  const body = [
    '# Purpose',
    '',
    'Read **papers**, ~~skim~~ and see [the guide](https://example.com/guide).',
    '',
    '- outer',
    '  - inner one',
    '  - inner two',
    '- [x] done task',
    '',
    '| Tool | Why |',
    '| --- | --- |',
    '| Zotero | references |',
    '',
    '```',
    'make notes',
    '```',
    '',
    '![a diagram of the desk](https://example.com/diagram.png)',
    '',
    '<img src="https://example.com/x.png" onerror="window.__owned=1"><script>window.__owned=1</script><b>raw bold</b>',
  ].join('\n')
  await page.getByLabel('Body (markdown)').fill(body)
  await page.getByRole('tab', { name: 'Preview' }).click()
  const preview = page.locator('.markdown')
  await expect(preview.getByRole('heading', { name: 'Purpose', level: 2 })).toBeVisible()
  await expect(preview.locator('strong')).toHaveText('papers')
  await expect(preview.locator('del')).toHaveText('skim')
  await expect(preview.locator('ul ul > li')).toHaveText(['inner one', 'inner two'])
  await expect(preview.locator('input[type="checkbox"]')).toBeChecked()
  await expect(preview.getByRole('table')).toContainText('Zotero')
  await expect(preview.getByRole('cell', { name: 'references' })).toBeVisible()
  await expect(preview.locator('pre code')).toHaveText('make notes')
  // Images are their alt text: nothing is fetched. Links are shown, not followed.
  await expect(preview.getByRole('img', { name: 'Image: a diagram of the desk' })).toHaveText('[image: a diagram of the desk]')
  await expect(preview.locator('img, script, a[href], b')).toHaveCount(0)
  await expect(preview.getByTitle('https://example.com/guide')).toHaveText('the guide')
  await page.screenshot({ path: artifactPath('editor-02-markdown-preview.png') })
  await preview.getByTitle('https://example.com/guide').click()
  await expect(heading(page, 'New constitution')).toBeVisible()
  expect(await page.evaluate(() => (window as unknown as { __owned?: number }).__owned)).toBeUndefined()
  expect(app.host.errors).toEqual([])
})
