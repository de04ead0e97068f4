// Windowing (docs/benchmarks.md, "Console list screens"): a long list renders only the rows in its scroll box
// and a few either side, with @tanstack/react-virtual. Where there is no layout (a component test, a box not
// shown yet) the box is taken as `fallbackHeight` tall and a row as tall as expected, so the first rows render.
import { measureElement, observeElementRect, useVirtualizer, type VirtualItem } from "@tanstack/react-virtual";
import type { RefObject } from "react";

export interface Windowed {
  /** the rows to render, each with its index and its offset from the top of the list */
  items: VirtualItem[];
  /** the height of the whole list, and what lies above the first and below the last row rendered */
  total: number;
  before: number;
  after: number;
  /** for rows of varying height: set as each row's `ref` (with `data-index`) to measure it */
  measure: (element: Element | null) => void;
}

export function useWindowed({
  count,
  size,
  scroller,
  overscan = 4,
  gap = 0,
  fallbackHeight = 800,
}: {
  count: number;
  /** the expected height of a row in pixels */
  size: number;
  scroller: RefObject<HTMLElement | null>;
  overscan?: number;
  gap?: number;
  fallbackHeight?: number;
}): Windowed {
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => size,
    overscan,
    gap,
    initialRect: { width: 0, height: fallbackHeight },
    measureElement: (element, entry, instance) => measureElement(element, entry, instance) || size,
    observeElementRect: (instance, cb) => observeElementRect(instance, (rect) => cb(rect.height > 0 ? rect : { width: rect.width, height: fallbackHeight })),
  });
  const items = virtualizer.getVirtualItems();
  const total = virtualizer.getTotalSize();
  const before = items.length ? items[0]!.start : 0;
  const after = items.length ? Math.max(0, total - items[items.length - 1]!.end) : 0;
  return { items, total, before, after, measure: virtualizer.measureElement };
}

/** The pixels of one rem (the grid's rows are sized in rem). */
export function remPx(): number {
  const size = typeof document === "undefined" ? NaN : parseFloat(getComputedStyle(document.documentElement).fontSize);
  return Number.isFinite(size) && size > 0 ? size : 16;
}
