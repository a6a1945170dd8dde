import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One series per asset over shared time buckets (seconds since the epoch). */
export interface TimeSeries {
  readonly times: readonly number[];
  readonly series: readonly { readonly label: string; readonly values: readonly number[] }[];
}

const COLOURS = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2'];

/** Withdrawals over time per asset, drawn by uPlot (canvas), resized with its container. */
export function WithdrawalsChart({ data, label }: { data: TimeSeries; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#cbd5e1' : '#334155', grid: { stroke: dark ? '#334155' : '#e2e8f0' } };
    const plot = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: 240,
        scales: { x: { time: true } },
        axes: [axis, { ...axis, label: 'withdrawals per hour' }],
        series: [
          {},
          ...data.series.map((s, index) => ({
            label: s.label,
            stroke: COLOURS[index % COLOURS.length],
            width: 2,
            points: { show: true },
          })),
        ],
      },
      [data.times as number[], ...data.series.map((s) => s.values as number[])],
      element,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(280, element.clientWidth), height: 240 }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [data]);
  return <div className="chart" ref={box} role="img" aria-label={label} />;
}
