package secretscan

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/middleware"
)

// KMSOption is a kms.Options function that registers every plaintext data
// key the client receives — GenerateDataKey's and Decrypt's Plaintext — as
// a secret, so a data key that reaches a log line or a response is caught
// like any credential. Pass it where the test builds its KMS client:
// env.KMSClient(scanner.KMSOption).
func (s *Scanner) KMSOption(o *kms.Options) {
	o.APIOptions = append(o.APIOptions, s.addKMSMiddleware)
}

func (s *Scanner) addKMSMiddleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("secretscan-kms-plaintext",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			var plain []byte
			switch o := out.Result.(type) {
			case *kms.GenerateDataKeyOutput:
				plain = o.Plaintext
			case *kms.DecryptOutput:
				plain = o.Plaintext
			}
			if len(plain) > 0 {
				s.Register(fmt.Sprintf("KMS data key #%d", s.dataKeys.Add(1)), string(plain))
			}
			return out, md, err
		}), middleware.After)
}
