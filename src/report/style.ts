import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/** Colour only for a TTY, never when NO_COLOR is set or --no-color was given. */
export function colorsFor(stream: NodeJS.WriteStream, wanted: boolean): Colors {
  const enabled =
    wanted && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '') && stream.isTTY === true;
  return pc.createColors(enabled);
}
