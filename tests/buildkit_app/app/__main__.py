print("hello from web 1.0.0")
