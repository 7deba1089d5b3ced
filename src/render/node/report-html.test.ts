import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { SanityFlag } from '../../evaluate/report-types.js';
import { renderReportHtml } from './report-html.js';
import { sampleGallery, sampleReport } from './report-test-fixture.js';

const masked: SanityFlag = {
  id: 'masked-gradients',
  severity: 'warning',
  title: 'Gradients are zero for many points',
  detail: '41.0% of the points have an all-zero input gradient.',
  advice: 'Check for a non-differentiable step; evaluate with Square or BPDA.',
};
const square: SanityFlag = {
  id: 'black-box-beats-white-box',
  severity: 'info',
  title: 'Square broke points the white-box attacks did not',
  detail: 'Square broke 3 points after APGD-CE and APGD-T.',
  advice: 'Look for gradient masking.',
};

describe('renderReportHtml', () => {
  it('shows the defense, how it was attacked, and the naive run beside the adaptive one with its flags', async () => {
    const report = sampleReport({ eps: [8 / 255] });
    report.defense = {
      spec: 'jpeg:75',
      differentiable: false,
      random: false,
      gradients: 'adaptive',
      note: 'Adaptive evaluation (Athalye, Carlini & Wagner 2018): BPDA through jpeg:75.',
      naive: {
        suite: { name: 'apgd-ce,apgd-t', attacks: [] },
        clean_acc: report.clean_acc,
        robust: [{ eps: 8 / 255, autoattack_acc: 0.7321, by_attack: [] }],
        sanity_checked: true,
        flags: [masked],
      },
    };
    const html = await renderReportHtml(report, []);
    expect(html).toContain('<h2>Defense</h2>');
    expect(html).toContain(
      'Defense <code>jpeg:75</code> (not differentiable, deterministic). Adaptive evaluation',
    );
    expect(html).toContain('73.21%');
    expect(html).toContain('naive run: Gradients are zero for many points');
    expect(await renderReportHtml(sampleReport({ eps: [8 / 255] }), [])).not.toContain('<h2>Defense</h2>');
  });

  it('holds the numbers, the per-attack tables, the environment and the command', async () => {
    const report = sampleReport({ eps: [2 / 255, 8 / 255] });
    const html = await renderReportHtml(report, sampleGallery(report));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<title>Robustness of mnist-cnn-robust on mnist</title>');
    expect(html).toContain('98.75%');
    for (const r of report.robust) {
      expect(html).toContain(`robust accuracy, Linf eps ${r.eps === 8 / 255 ? '8/255' : '2/255'}`);
      expect(html).toContain(`${(r.autoattack_acc * 100).toFixed(2)}%`);
      for (const s of r.by_attack) expect(html).toContain(`${(s.accuracy_after * 100).toFixed(2)}%`);
    }
    expect(html).toContain('<td class="num">5,000</td>'); // square's queries per point
    expect(html).toContain('<td class="num">50.0 s</td>'); // the 4th attack's seconds
    expect(html).toContain('4.22.0');
    expect(html).toContain('a'.repeat(64));
    expect(html).toContain('b'.repeat(64));
    expect(html).toContain('>wasm<');
    expect(html).toContain(`<pre><code>${report.command}</code></pre>`);
    expect(html).toContain('No flags');
    expect(html.match(/<svg/g)).toHaveLength(2);
  });

  it('puts the gallery images inline as PNG data URIs', async () => {
    const report = sampleReport({ eps: [0.1, 0.3] });
    const gallery = sampleGallery(report);
    const html = await renderReportHtml(report, gallery);
    const uris = [...html.matchAll(/<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)" width="(\d+)"/g)];
    expect(uris).toHaveLength(3 * gallery.length);
    const first = await sharp(Buffer.from(uris[0][1], 'base64')).raw().toBuffer({ resolveWithObject: true });
    expect([first.info.width, first.info.height]).toEqual([28, 28]);
    expect(uris[0][2]).toBe('112'); // 28 px drawn 4x, crisp
    expect(html).toContain('broken by apgd-t');
    expect(html).toContain('robust: no attack broke it');
    expect(html).toContain('<h3>Linf eps 0.3</h3>');
    expect(html).toContain('noise ×10');
  });

  it('shows the flags, warnings first and announced at the top', async () => {
    const report = sampleReport({ flags: [square, masked] });
    const html = await renderReportHtml(report, []);
    expect(html).toContain('1 sanity check warned');
    expect(html.indexOf(masked.title)).toBeLessThan(html.indexOf(square.title));
    expect(html.indexOf('sanity check warned')).toBeLessThan(html.indexOf('Accuracy against the budget'));
    for (const f of [masked, square]) {
      expect(html).toContain(f.detail);
      expect(html).toContain(f.advice);
      expect(html).toContain(f.id);
    }
    expect(html).not.toContain('No flags');
    expect(html).toContain('No examples were kept');
  });

  it('says that nothing was checked when the sanity checks were skipped', async () => {
    const html = await renderReportHtml({ ...sampleReport({ flags: [] }), sanity_checked: false }, []);
    expect(html).toContain('Skipped (--no-sanity): nothing was checked');
    expect(html).not.toContain('No flags');
  });

  it('escapes every text so that names and flags stay inert', async () => {
    const evil = '<script>alert("x")</script>';
    const report = sampleReport({
      eps: [0.3],
      classNames: [evil, ...Array.from({ length: 9 }, (_, i) => `c${i}`)],
      flags: [{ ...masked, title: evil, detail: 'a & b < c' }],
    });
    report.model.name = `<img src=x onerror=alert(1)>`;
    report.command = `advkit evaluate --model "m & <b>"`;
    report.suite.attacks[0].params = { note: '</code><script>' };
    const gallery = sampleGallery(report).map((g) => ({ ...g, label: 0, attack: evil }));
    const html = await renderReportHtml(report, gallery);
    expect(html).not.toMatch(/<script|<img src=x|onerror=alert\(1\)>/);
    expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
    expect(html).toContain('a &#38; b &#60; c');
    expect(html).toContain('advkit evaluate --model &#34;m &#38; &#60;b&#62;&#34;');
  });

  it('charts the weakest classes when there are many, lists them all, and renders the same bytes twice', async () => {
    const report = sampleReport({ eps: [0.3], classes: 30 });
    const html = await renderReportHtml(report, []);
    expect(html).toContain(
      'The chart shows the 20 of 30 classes with the lowest robust accuracy at Linf eps 0.3',
    );
    expect(html).toContain('<details><summary>Table: accuracy per class (30 classes)</summary>');
    expect(html.match(/<tr><td class="num">\d+<\/td>/g)).toHaveLength(30);
    expect(await renderReportHtml(report, [])).toBe(html);
  });

  it('fetches nothing: no http(s), no external src/href, no script', async () => {
    for (const norm of ['linf', 'l2'] as const) {
      const report = sampleReport({ norm, eps: norm === 'l2' ? [0.5] : [0.1, 0.2, 0.3] });
      const html = await renderReportHtml(report, sampleGallery(report));
      expect(html).not.toMatch(/https?:/i);
      expect(html).not.toMatch(/<script|<link|<iframe|@import/i);
      const refs = [...html.matchAll(/(?:src|href)="([^"]*)"|url\(([^)]*)\)/g)].map((m) => m[1] ?? m[2]);
      expect(refs.every((r) => r.startsWith('data:image/png;base64,') || r.startsWith('#'))).toBe(true);
      expect(html).toContain(norm === 'l2' ? 'eps (L2)' : 'eps (Linf)');
    }
  });
});
