/**
 * Whether this browser's WebGL is drawn by the CPU (SwiftShader, llvmpipe, Microsoft Basic Render):
 * headless browsers, virtual machines and GPU blocklists fall back to one. TF.js on such a "GPU" is
 * 9–35× slower than its wasm backend (docs/browser.md), so a browser node then skips WebGL.
 */
const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software|basic render/i

export function softwareWebGl (): boolean {
  if (typeof OffscreenCanvas === 'undefined') return false
  try {
    const context = new OffscreenCanvas(1, 1).getContext('webgl2') ?? new OffscreenCanvas(1, 1).getContext('webgl')
    if (context === null) return false
    // Browsers that hide the renderer behind the debug extension still name it there.
    const debug = context.getExtension('WEBGL_debug_renderer_info')
    const renderer = String(context.getParameter(debug === null ? context.RENDERER : debug.UNMASKED_RENDERER_WEBGL))
    return SOFTWARE_RENDERERS.test(renderer)
  } catch {
    // No WebGL context to ask: TF.js's own start-up of the webgl backend will fail and fall through.
    return false
  }
}
