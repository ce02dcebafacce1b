// Keeps a render exception in one page from blanking the whole app: the
// top bar stays, and the page says what happened with a way on. A new path
// (App keys the boundary by it) starts clean.
import { Component, type ComponentChildren } from 'preact';
import { Button, LinkButton } from './ui';

type State = { error: unknown };

export class ErrorBoundary extends Component<{ children: ComponentChildren }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error };
  }

  componentDidCatch(error: unknown): void {
    // The browser console is where a developer looks; nothing is sent anywhere.
    console.error('Gatehouse: a page failed to render', error);
  }

  render() {
    if (this.state.error === null) return this.props.children;
    const detail = this.state.error instanceof Error ? this.state.error.message : String(this.state.error);
    return (
      <div class="page">
        <div class="alert alert--error" role="alert" data-testid="render-error">
          <div class="alert__body">
            <h1 class="alert__title">This page could not be shown</h1>
            <p class="alert__detail">Something in it failed: {detail}</p>
            <div class="alert__actions">
              <Button size="sm" onClick={() => this.setState({ error: null })}>Try again</Button>
              <LinkButton href="/gateways">Back to gateways</LinkButton>
            </div>
          </div>
        </div>
      </div>
    );
  }
}
