import { EmptyState, LinkButton } from '../components/ui';

export function NotFoundPage() {
  return (
    <EmptyState title="Page not found" action={<LinkButton href="/gateways" variant="primary">Go to gateways</LinkButton>}>
      There is nothing at this address.
    </EmptyState>
  );
}
