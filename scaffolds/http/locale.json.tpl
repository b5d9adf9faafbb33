{
  "greeting": {
    "hello": "Hello, {name}!"
  }
}
