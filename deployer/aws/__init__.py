"""The only place boto3/botocore is imported: session, retries, error translation, one adapter per service."""
