enum _PlaceholderScheduler {}
