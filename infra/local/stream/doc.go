// Package stream plays, for the local runner, the part of AWS Lambda that
// feeds a function from the table's DynamoDB stream: the event source
// mapping. In AWS the mapping reads the stream and invokes the function;
// under `make run` nothing does, so Run reads DynamoDB Local's real stream
// through the DynamoDB Streams API and calls the same handler with the same
// events.DynamoDBEvent Lambda would build.
//
// It keeps the mapping's promises, which a handler relies on:
//
//   - Every shard is read by its own goroutine, batch after batch in order;
//     a child shard starts only once its parent is read to its end, so an
//     item's changes arrive in the order they were made. Shards appear as
//     DynamoDB rolls them (DynamoDB Local every 4 hours), and Run looks for
//     new ones every few seconds and as soon as a shard ends.
//   - A batch the handler fails (an error, or a panic) is delivered again,
//     the same records, after a wait that doubles from Options.RetryWait to
//     10 s; a shard never moves past a record its handler has not processed.
//   - A response naming failed items (events.DynamoDBEventResponse's
//     BatchItemFailures, ReportBatchItemFailures in AWS, identified by the
//     record's SequenceNumber) counts the records before the earliest failed
//     one as processed and delivers again from it. An empty or unknown
//     identifier fails the whole batch.
//   - Delivery is at least once: a handler must bear a record twice (after a
//     partial failure, or a restart that a checkpoint write did not survive).
//
// Beyond Lambda, Options.Checkpoint names a file where Run keeps, after
// every batch, the last record processed in each shard, so that a restarted
// runner goes on where it stopped instead of delivering the stream again
// from its trim horizon. A checkpoint of another stream (the table was
// recreated) is ignored.
//
// Run logs one line per failed batch, naming the shard, the records'
// sequence numbers and the handler's error, and never an item's contents:
// they may hold user data (a handler's error text should not either).
//
// # Running it from the local runner
//
// After dynamo.EnsureTable (which gives the table its stream), the runner
// builds the clients from its emulator configuration and runs the mapping
// until it shuts down; Run returns once its context ends and every shard's
// goroutine has stopped:
//
//	ddb, streams := stream.Clients(awsCfg) // streams go to DynamoDB Local's endpoint
//	wg.Go(func() {
//		err := stream.Run(ctx, ddb, streams, cfg.Table, deliveryHandler, stream.Options{
//			Checkpoint: filepath.Join(stateDir, "delivery-stream.json"),
//			Region:     emulator.Region,
//			Log:        log,
//		})
//		if err != nil { // only when it cannot start: no table, no stream, a bad checkpoint
//			log.Error("delivery stream", "err", err)
//		}
//	})
//
// where deliveryHandler has the Lambda handler's signature (Handler). The
// defaults are the template's event source mapping's: batches of up to 100
// records, starting at the trim horizon.
package stream
