/**
 * A drawing pad for digits: white strokes on black, as MNIST's digits are. Pointer input (mouse, pen,
 * touch); the keyboard user picks a test sample or a photo instead.
 */
export class DrawPad {
  private drawing = false;
  private readonly ctx: CanvasRenderingContext2D;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly onStroke: () => void,
  ) {
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (ctx === null) throw new Error('This browser has no 2D canvas.');
    this.ctx = ctx;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => {
      this.drawing = true;
      canvas.setPointerCapture(e.pointerId);
      this.ctx.beginPath();
      this.ctx.moveTo(...this.point(e));
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.drawing) return;
      this.ctx.lineTo(...this.point(e));
      this.ctx.stroke();
    });
    const end = (): void => {
      if (!this.drawing) return;
      this.drawing = false;
      this.onStroke();
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  private point(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [
      ((e.clientX - r.left) / r.width) * this.canvas.width,
      ((e.clientY - r.top) / r.height) * this.canvas.height,
    ];
  }

  clear(): void {
    this.ctx.fillStyle = 'black';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.ctx.strokeStyle = 'white';
    this.ctx.lineWidth = this.canvas.width / 12;
    this.ctx.lineCap = 'round';
    this.ctx.lineJoin = 'round';
  }
}
