"""Running the pipeline: one pass (`tick`), the service (`run`) and what they need around them:
delivery, reading the mailbox, the composing child, lifecycle, sd_notify, logs."""
