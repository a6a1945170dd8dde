import { StrictMode, useEffect } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { SessionProvider } from './session.tsx';
import './styles.css';

/** Marks the first render (npm run bench reads it: the time to first render on the embedded default). */
function FirstRender() {
  useEffect(() => {
    if (performance.getEntriesByName('drawbridge:first-render').length === 0)
      performance.mark('drawbridge:first-render');
  }, []);
  return null;
}

const root = document.getElementById('root');
if (root !== null) {
  createRoot(root).render(
    <StrictMode>
      <SessionProvider>
        <App />
        <FirstRender />
      </SessionProvider>
    </StrictMode>,
  );
}
