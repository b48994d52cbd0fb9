// webpack 5 picks up `new URL('p2p_probe_bg.wasm', import.meta.url)` inside p2p-probe by
// itself: it emits the wasm as an asset next to main.js and rewrites the URL.
export default {
  entry: './src/main.ts',
  module: {
    rules: [{ test: /\.ts$/, use: 'ts-loader' }],
  },
  resolve: {
    extensions: ['.ts', '.js'],
  },
};
